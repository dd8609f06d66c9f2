import fs from 'node:fs';
import path from 'node:path';
import { artifactPath, bundleFile, readBundle } from '@alki/bundler';
import { describeSignatures, type SignatureClaim } from '@alki/signer';
import {
  GgufValueType,
  openGgufModel,
  summarizeGguf,
  ggmlTypeInfo,
  type GgufMetadataEntry,
  type GgufModel,
  type GgufSummary,
  type GgufValue,
} from '@alki/gguf-reader';
import { planConversion } from '@alki/converter';
import { hubAuthHeaders, hubGgufLocation, resolveHubConfig, resolveModelTarget, selectGguf } from '@alki/hub';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import { formatBytes } from '../format.js';
import { renderConversionPlan } from './conversion-plan.js';

interface InspectArgs extends GlobalOptions {
  model: string;
  filename?: string;
  revision: string;
  tensors: boolean;
  metadata: boolean;
  maxItems: number;
  ctxSize?: number;
}

/** Where the model was read from, and how. */
interface Target {
  kind: 'file' | 'url' | 'hub';
  location: string;
  headers: Record<string, string>;
  repo?: string;
  commit?: string;
  file?: string;
  /** Set when the target is a bundle directory: its signatures are shown too. */
  bundleDir?: string;
}

/**
 * Where the GGUF that the argument names is read from: a local file, a URL
 * (the hub token only for the hub's own host), a hub repo's file by range
 * requests (or its cached copy offline), or a bundle's model, which passes the
 * same containment check as `alki verify` first. @alki/hub's resolveModelTarget
 * decides which, as for every other command.
 */
async function resolveTarget(argv: InspectArgs, signal: AbortSignal): Promise<Target> {
  const target = await resolveModelTarget(argv.model);
  if (argv.filename !== undefined && (target.kind === 'file' || target.kind === 'url')) {
    throw new CliError('USAGE', '--filename only applies to a hub repo (org/name) or a bundle.', {
      details: { flag: '--filename' },
    });
  }
  switch (target.kind) {
    case 'file':
      return { kind: 'file', location: target.path, headers: {} };
    case 'url':
      return { kind: 'url', location: target.url, headers: hubAuthHeaders(target.url) };
    case 'hub': {
      const where = await hubGgufLocation(target.repo, {
        filename: argv.filename,
        revision: argv.revision,
        signal,
      });
      return { kind: 'hub', ...where };
    }
    case 'directory':
      return bundleModel(target.path, argv.filename);
  }
}

// A bundle directory (what `alki pack` wrote): the model its runtime.json
// serves, or the one artifact --filename picks. readBundle refuses a plain
// directory, and bundleFile a model that is a link, a pipe or outside it.
async function bundleModel(dir: string, filename: string | undefined): Promise<Target> {
  const bundle = await readBundle(dir);
  const artifacts = bundle.manifest.artifacts.map((artifact) => artifactPath(artifact.uri));
  const file = filename ? selectGguf(artifacts, filename, dir).file : artifactPath(bundle.runtime.model);
  return { kind: 'file', location: await bundleFile(bundle.dir, file), headers: {}, bundleDir: bundle.dir };
}

/** A Hugging Face model folder (config.json, no bundle manifest) or cache entry. */
function isCheckpointDir(location: string): boolean {
  if (!fs.statSync(location, { throwIfNoEntry: false })?.isDirectory()) return false;
  if (fs.existsSync(path.join(location, 'manifest.json'))) return false;
  return (
    fs.existsSync(path.join(location, 'config.json')) ||
    path.basename(path.resolve(location)).startsWith('models--')
  );
}

// --- rendering ---------------------------------------------------------------

function formatCount(count: number): string {
  const units: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  const [scale, suffix] = units.find(([s]) => count >= s) ?? [1, ''];
  return suffix ? `${(count / scale).toFixed(2)}${suffix}` : String(count);
}

function typeName(entry: { type: GgufValueType; value: GgufValue }): string {
  if (entry.type !== GgufValueType.ARRAY) return GgufValueType[entry.type];
  const array = entry.value as { itemType: GgufValueType; items: GgufValue[] };
  return `${GgufValueType[entry.type]}[${typeName({ type: array.itemType, value: array.items[0] ?? { itemType: GgufValueType.UINT8, items: [] } })}]`;
}

/** A JSON-safe value with arrays cut to `maxItems` (64-bit integers become numbers when exact, else strings). */
/** The shortest decimal that reads back as the same float32 (1e-5, not 0.000009999999747378752). */
function shortestFloat32(value: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/** A JSON-safe value with arrays cut to `maxItems` (64-bit integers become numbers when exact, else strings). */
function jsonValue(value: GgufValue, type: GgufValueType, maxItems: number): unknown {
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'number' && type === GgufValueType.FLOAT32) return shortestFloat32(value);
  if (typeof value !== 'object') return value;
  const items = value.items.slice(0, maxItems).map((item) => jsonValue(item, value.itemType, maxItems));
  return value.items.length > maxItems
    ? { count: value.items.length, items, truncated: true }
    : { count: value.items.length, items };
}

function humanValue(value: GgufValue, type: GgufValueType, maxItems: number, maxChars = 120): string {
  if (typeof value === 'string') {
    const shown = JSON.stringify(value.length > maxChars ? value.slice(0, maxChars) : value);
    return value.length > maxChars ? `${shown}... (${value.length} chars)` : shown;
  }
  if (typeof value === 'number' && type === GgufValueType.FLOAT32) return String(shortestFloat32(value));
  if (typeof value !== 'object') return String(value);
  const shown = value.items.slice(0, maxItems).map((item) => humanValue(item, value.itemType, maxItems, 40));
  const more = value.items.length > maxItems ? `, ... ${value.items.length - maxItems} more` : '';
  return `[${shown.join(', ')}${more}] (${value.items.length})`;
}

function metadataJson(metadata: GgufMetadataEntry[], maxItems: number) {
  return metadata.map((entry) => ({
    key: entry.key,
    type: typeName(entry),
    value: jsonValue(entry.value, entry.type, maxItems),
  }));
}

// Claims as the files state them; `alki verify --policy` decides whether to trust them.
function renderSignatures(claims: SignatureClaim[]): string {
  if (claims.length === 0) return 'signatures   none (sign with `alki sign`)';
  const lines = ['signatures   (unverified; check with `alki verify --key` or `--policy`)'];
  for (const claim of claims) {
    lines.push(
      `  ${claim.kind.padEnd(11)} ${claim.claimedSigner}${claim.problem ? `: ${claim.problem}` : ''}`,
    );
    const statement = claim.statement;
    if (!statement) continue;
    const source = statement.predicate.buildDefinition.externalParameters.source as {
      kind?: string;
      repo?: string;
      revision?: string | null;
    };
    lines.push(
      `    built from  ${source.kind ?? '?'} ${source.repo ?? '?'}${source.revision ? `@${source.revision}` : ''}`,
    );
    for (const dependency of statement.predicate.buildDefinition.resolvedDependencies)
      lines.push(
        `    input       ${dependency.name ?? dependency.uri}${dependency.digest?.sha256 ? ` sha256:${dependency.digest.sha256}` : ''}`,
      );
    const versions = Object.entries(statement.predicate.runDetails.builder.version).map(
      ([k, v]) => `${k} ${v}`,
    );
    lines.push(`    built by    ${versions.join(', ')}`);
  }
  return lines.join('\n');
}

function renderSummary(target: Target, summary: GgufSummary): string {
  const rows: Array<[string, string | undefined]> = [
    [
      'model',
      target.kind === 'hub'
        ? `${target.repo}/${target.file} @ ${target.commit?.slice(0, 12)}`
        : target.location,
    ],
    ['architecture', summary.architecture],
    ['name', summary.name],
    [
      'parameters',
      `${formatCount(summary.parameterCount)} (${summary.parameterCount.toLocaleString('en-US')})`,
    ],
    [
      'file type',
      summary.fileType ? `${summary.fileType.name ?? 'unknown'} (${summary.fileType.id})` : undefined,
    ],
    [
      'tensor types',
      summary.tensorTypes
        .map(
          (t) =>
            `${t.type} ${t.tensors} (${((100 * t.bytes) / Math.max(1, summary.memory.weightsBytes)).toFixed(1)}%)`,
        )
        .join(', '),
    ],
    ['tensors', String(summary.tensorCount)],
    ['context length', summary.contextLength?.toString()],
    ['embedding', summary.embeddingLength?.toString()],
    ['layers', summary.blockCount?.toString()],
    [
      'heads / KV heads',
      summary.headCount !== undefined
        ? `${summary.headCount} / ${summary.headCountKv ?? summary.headCount}`
        : undefined,
    ],
    ['feed-forward', summary.feedForwardLength?.toString()],
    [
      'vocabulary',
      summary.vocabSize !== undefined
        ? `${summary.vocabSize}${summary.tokenizerModel ? ` (${summary.tokenizerModel})` : ''}`
        : undefined,
    ],
    ['chat template', summary.hasChatTemplate ? 'yes' : 'no'],
    ['license', summary.license],
    ...Object.entries(summary.general).map(([key, value]): [string, string] => [
      `general.${key}`,
      String(value),
    ]),
    ['GGUF version', String(summary.version)],
    [
      'size on disk',
      `${formatBytes(summary.fileSize)}${summary.shards > 1 ? ` in ${summary.shards} shards` : ''}`,
    ],
    [
      `memory @ ctx ${summary.memory.contextSize}`,
      `${formatBytes(summary.memory.totalBytes)} (weights ${formatBytes(summary.memory.weightsBytes)} + KV cache ${formatBytes(summary.memory.kvCacheBytes)})`,
    ],
  ];
  const shown = rows.filter((row): row is [string, string] => row[1] !== undefined && row[1] !== '');
  const width = Math.max(...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

function renderTensors(model: GgufModel): string {
  const shards = model.shards.length > 1;
  const lines = model.tensors.map((t) => {
    const shape = `[${t.dims.join(', ')}]`;
    return `${t.name.padEnd(40)} ${ggmlTypeInfo(t.type).name.padEnd(8)} ${shape.padEnd(22)} ${formatBytes(t.byteSize).padStart(10)}${shards ? `  shard ${t.shard + 1}` : ''}`;
  });
  return [
    `${'name'.padEnd(40)} ${'type'.padEnd(8)} ${'shape'.padEnd(22)} ${'size'.padStart(10)}`,
    ...lines,
  ].join('\n');
}

function renderMetadata(metadata: GgufMetadataEntry[], maxItems: number): string {
  // A loop, not Math.max(...): a file may hold more keys than a call can take arguments.
  let width = 0;
  for (const entry of metadata) width = Math.min(48, Math.max(width, entry.key.length));
  return metadata
    .map(
      (entry) =>
        `${entry.key.padEnd(width)}  ${typeName(entry).padEnd(14)}  ${humanValue(entry.value, entry.type, maxItems)}`,
    )
    .join('\n');
}

export const inspectCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('model', {
        type: 'string',
        demandOption: true,
        describe: 'A .gguf path, a bundle directory, an http(s) URL, or org/name on the hub',
      })
      .option('filename', {
        type: 'string',
        describe: 'For org/name or a bundle: a glob picking the GGUF (e.g. "*Q4_K_M.gguf")',
      })
      .option('revision', {
        type: 'string',
        default: 'main',
        describe: 'For org/name: branch, tag or commit',
      })
      .option('tensors', {
        type: 'boolean',
        default: false,
        describe: 'List every tensor: name, type, shape, size',
      })
      .option('metadata', {
        type: 'boolean',
        default: false,
        describe: 'Dump every metadata key, long arrays cut short',
      })
      .option('max-items', {
        type: 'number',
        default: 8,
        describe: 'With --metadata: array items shown before cutting',
      })
      .option('ctx-size', {
        type: 'number',
        describe: 'Context size for the memory estimate (default: the model context length)',
      })
      .example('$0 inspect model.gguf', 'Architecture, parameters, quantization mix, context, memory needed')
      .example(
        '$0 inspect ./dist/alki-demo --filename "*q8_0.gguf"',
        "A bundle's model: the one it serves, or the one --filename picks",
      )
      .example(
        '$0 inspect Qwen/Qwen2.5-0.5B-Instruct-GGUF --filename "*q4_k_m.gguf"',
        'Inspect a hub file by range requests, no download',
      )
      .example('$0 inspect model.gguf --tensors --metadata --json', 'Everything, as JSON')
      .example(
        '$0 inspect ./SmolLM3-3B --tensors',
        'A safetensors checkpoint: the family detected and the GGUF `alki convert` would write',
      ),
  handler: withContext<InspectArgs>(async (argv, { out, signal }) => {
    if (argv.ctxSize !== undefined && (!Number.isInteger(argv.ctxSize) || argv.ctxSize < 0)) {
      throw new CliError('USAGE', `--ctx-size must be a whole number of tokens, got ${argv.ctxSize}.`, {
        details: { flag: '--ctx-size' },
      });
    }
    if (!Number.isInteger(argv.maxItems) || argv.maxItems < 0) {
      throw new CliError('USAGE', `--max-items must be a whole number, got ${argv.maxItems}.`, {
        details: { flag: '--max-items' },
      });
    }
    if (isCheckpointDir(argv.model)) {
      // A Hugging Face checkpoint: what `alki convert` would write from it.
      const plan = await planConversion({ input: argv.model });
      const { metadata, tensors, ...rest } = plan;
      out.result(
        {
          source: { kind: 'checkpoint', location: argv.model },
          plan: { ...rest, ...(argv.metadata ? { metadata } : {}), ...(argv.tensors ? { tensors } : {}) },
        },
        () =>
          [
            renderConversionPlan(plan, { tensors: argv.tensors }),
            argv.metadata
              ? `\nmetadata:\n${Object.entries(metadata)
                  .map(([key, value]) => `  ${key} = ${JSON.stringify(value)}`)
                  .join('\n')}`
              : '',
          ]
            .filter(Boolean)
            .join('\n'),
      );
      return;
    }
    const target = await resolveTarget(argv, signal);
    out.debug(`reading ${target.location}`);
    // A remote read that stalls is cut after HF_HUB_DOWNLOAD_TIMEOUT (10 s) and resumed with Range.
    const model = await openGgufModel(target.location, {
      headers: target.headers,
      signal,
      idleTimeoutMs: resolveHubConfig().timeoutMs,
    });
    const summary = summarizeGguf(model, { contextSize: argv.ctxSize });
    const result = {
      source: {
        kind: target.kind,
        location: target.location,
        repo: target.repo,
        commit: target.commit,
        file: target.file,
      },
      summary,
      ...(argv.tensors
        ? {
            tensors: model.tensors.map((t) => ({
              name: t.name,
              type: ggmlTypeInfo(t.type).name,
              dims: t.dims,
              bytes: t.byteSize,
              offset: t.offset,
              shard: t.shard,
            })),
          }
        : {}),
      ...(argv.metadata ? { metadata: metadataJson(model.metadata, argv.maxItems) } : {}),
      ...(target.bundleDir ? { signatures: await describeSignatures(target.bundleDir) } : {}),
    };
    out.result(result, () =>
      [
        renderSummary(target, summary),
        result.signatures ? `\n${renderSignatures(result.signatures)}` : '',
        argv.tensors ? `\n${renderTensors(model)}` : '',
        argv.metadata ? `\n${renderMetadata(model.metadata, argv.maxItems)}` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }),
};
