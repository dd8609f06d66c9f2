import { ConverterError } from '../errors.js';
import type { VocabTables } from './bpe.js';
import { looksSpecial, TokenType } from './token-types.js';
import type { JsonVocab } from './vocab.js';

interface Piece {
  piece: string;
  score: number;
  type: number;
}

function bad(message: string): ConverterError {
  return new ConverterError('BAD_TOKENIZER', `tokenizer.model: ${message}`, {
    hint: 'The SentencePiece model is corrupt; download it again.',
  });
}

/** A minimal protobuf reader: varints, fixed32 and length-delimited fields are all sentencepiece_model.proto uses. */
class ProtoReader {
  private at: number;
  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.at = start;
  }
  done(): boolean {
    return this.at >= this.end;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.at >= this.end) throw bad('truncated varint');
      const byte = this.bytes[this.at++];
      result += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return result;
      shift += 7;
      if (shift > 63) throw bad('varint too long');
    }
  }
  /** The next field: its number, wire type, and for wire type 2 its byte range. */
  field(): { number: number; wire: number; start: number; end: number; value: number } {
    const key = this.varint();
    const wire = key & 7;
    const number = Math.floor(key / 8);
    if (wire === 0) return { number, wire, start: 0, end: 0, value: this.varint() };
    if (wire === 5) {
      if (this.at + 4 > this.end) throw bad('truncated fixed32');
      const value = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.at, 4).getFloat32(0, true);
      this.at += 4;
      return { number, wire, start: 0, end: 0, value };
    }
    if (wire === 1) {
      this.at += 8;
      return { number, wire, start: 0, end: 0, value: 0 };
    }
    if (wire === 2) {
      const length = this.varint();
      const start = this.at;
      if (start + length > this.end) throw bad('truncated field');
      this.at += length;
      return { number, wire, start, end: start + length, value: length };
    }
    throw bad(`unsupported wire type ${wire}`);
  }
}

/** Parses the pieces and normalizer flag of a SentencePiece ModelProto (sentencepiece_model.proto). */
export function parseSentencePieceModel(bytes: Uint8Array): { pieces: Piece[]; addDummyPrefix: boolean } {
  const reader = new ProtoReader(bytes);
  const pieces: Piece[] = [];
  let addDummyPrefix = true;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  while (!reader.done()) {
    const field = reader.field();
    if (field.number === 1 && field.wire === 2) {
      const inner = new ProtoReader(bytes, field.start, field.end);
      const piece: Piece = { piece: '', score: 0, type: TokenType.NORMAL };
      while (!inner.done()) {
        const f = inner.field();
        if (f.number === 1 && f.wire === 2) piece.piece = decoder.decode(bytes.subarray(f.start, f.end));
        else if (f.number === 2 && f.wire === 5) piece.score = f.value;
        else if (f.number === 3 && f.wire === 0) piece.type = f.value;
      }
      pieces.push(piece);
    } else if (field.number === 3 && field.wire === 2) {
      const inner = new ProtoReader(bytes, field.start, field.end);
      while (!inner.done()) {
        const f = inner.field();
        if (f.number === 3 && f.wire === 0) addDummyPrefix = f.value !== 0;
      }
    }
  }
  if (!pieces.length) throw bad('no pieces');
  return { pieces, addDummyPrefix };
}

/**
 * Vocabulary tables from tokenizer.model, as _create_vocab_sentencepiece in
 * convert_hf_to_gguf builds them: pieces with their scores and types, padding
 * up to vocab_size, and tokenizer.json's added tokens on top (score -1000).
 */
export function sentencePieceModelVocab(
  bytes: Uint8Array,
  vocabSize: number,
  jsonVocab?: JsonVocab,
): { tables: VocabTables; addDummyPrefix: boolean } {
  const { pieces, addDummyPrefix } = parseSentencePieceModel(bytes);
  const tokens = Array.from({ length: vocabSize }, (_, i) => `[PAD${i}]`);
  const scores = new Array<number>(vocabSize).fill(-10000);
  const types = new Array<number>(vocabSize).fill(TokenType.UNUSED);
  pieces.slice(0, vocabSize).forEach((piece, id) => {
    tokens[id] = piece.piece;
    scores[id] = piece.score;
    types[id] = piece.type >= 1 && piece.type <= 6 ? piece.type : TokenType.NORMAL;
  });
  for (const added of jsonVocab?.added ?? []) {
    if (added.id >= vocabSize || added.id < pieces.length) continue;
    const special = added.special || looksSpecial(added.content);
    tokens[added.id] = special ? added.content : added.content.replaceAll('\u2581', ' ');
    types[added.id] = special ? TokenType.CONTROL : TokenType.USER_DEFINED;
    scores[added.id] = -1000;
  }
  return { tables: { tokens, scores, types }, addDummyPrefix };
}
