// The worker thread's entry: converts chunks as the pool sends them.
import { parentPort } from 'node:worker_threads';
import { convertChunk, type ChunkJob } from './convert-chunk.js';

const port = parentPort;
if (!port) throw new Error('quantize-worker.js runs only as a worker thread');

port.on('message', (message: { id: number; job: ChunkJob }) => {
  try {
    const result = convertChunk(message.job);
    port.postMessage({ id: message.id, result }, result.ok ? [result.output.buffer as ArrayBuffer] : []);
  } catch (error) {
    port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
