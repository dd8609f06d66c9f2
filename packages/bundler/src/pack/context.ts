// The narrow interface between pack.ts and the handlers of each kind of source (source-*.ts): what a
// handler gets (settings, scratch space, progress, the GGUF inspection step) and what it gives back
// (local GGUF files with their facts). Handlers import this file, never pack.ts or sources.ts, so the
// imports of pack/ go one way: pack -> sources -> source-* -> quantize-models -> context.
import type { BundleSource } from '../format/types.js';
import type { ModelFacts } from '../model/model-facts.js';
import type { PackImatrix } from './imatrix-file.js';

/** What resolving a source reports while it works. */
export interface SourceProgress {
  phase: 'resolve' | 'download' | 'convert' | 'quantize';
  file?: string;
  done?: number;
  total?: number;
  /** A sentence for people, for phases that are steps rather than byte counts. */
  message?: string;
}

/** How a hub repo is read: pack's --revision, --filename, --token and endpoint settings. */
export interface HubSettings {
  /** A glob that picks exactly one .gguf (`*Q8_0.gguf`). */
  filename?: string;
  /** A branch, tag or commit. */
  revision?: string;
  token?: string;
  hubUrl?: string;
  /** Environment for HF_TOKEN, HF_ENDPOINT, HF_HOME; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/** What every source handler gets. */
export interface SourceContext {
  /** Quant names as given (normalised), or undefined for the source's default. */
  quants: string[] | undefined;
  hub: HubSettings;
  /** Where scratch directories go: the destination's parent, so results are renamed into the bundle. */
  scratchParent: string;
  /** Reads a GGUF's facts from its header. */
  inspect: (file: string) => Promise<ModelFacts>;
  progress: (event: SourceProgress) => void;
  signal?: AbortSignal;
  /** The importance matrix every quantization uses (--imatrix), read and checked. */
  imatrix?: PackImatrix;
  /** --mmproj: a projector file for a .gguf, a glob for a hub repo, or false to leave the projector out. */
  mmproj?: string | false;
}

/** One model file ready to go into the bundle. */
export interface PreparedModel {
  /** The quant label (`Q4_K_M`); defaults to the one the file's `general.file_type` names. */
  quant?: string;
  /** A local GGUF file. */
  file: string;
  facts: ModelFacts;
  /**
   * True when `file` is a scratch file of this pack (a conversion or
   * quantization output) that may be moved instead of copied.
   */
  scratch?: boolean;
  /** True when the file was quantized with the pack's importance matrix. */
  imatrix?: boolean;
}

/** A source made concrete: local GGUF files ready to go into the bundle. */
export interface ResolvedSource {
  models: PreparedModel[];
  /** The vision projector served beside the models (`--mmproj`), for a vision-language model. */
  projector?: PreparedModel;
  source: BundleSource;
  hubUrl?: string;
  /** The license the source names (model card), if any; the GGUF's general.license is the fallback. */
  license?: string | null;
  licenseText?: string;
  /** The source's own time: file modification time, or the newest file of a download. */
  time: Date;
  /** The name used when neither --name nor general.name gives one. */
  defaultName: string;
  notes: string[];
  /** Removes scratch files (downloads stay in the hub cache). */
  cleanup(): Promise<void>;
}
