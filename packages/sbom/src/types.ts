// The subset of the SPDX 2.3 JSON model that Alki writes. Property names
// follow the official JSON schema (spdx-spec, schemas/spdx-schema.json).

export interface SpdxChecksum {
  algorithm: 'SHA256';
  checksumValue: string;
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  packageFileName?: string;
  supplier?: string;
  originator?: string;
  downloadLocation: string;
  homepage?: string;
  filesAnalyzed: false;
  checksums?: SpdxChecksum[];
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  primaryPackagePurpose: 'FILE' | 'SOURCE' | 'CONTAINER' | 'OTHER';
  comment?: string;
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'CONTAINS' | 'GENERATED_FROM';
  relatedSpdxElement: string;
}

export interface SpdxExtractedLicense {
  licenseId: string;
  name: string;
  extractedText: string;
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
  hasExtractedLicensingInfos?: SpdxExtractedLicense[];
}

/** One model file of the bundle. */
export interface SbomModelFile {
  /** The uri the manifest gives it, `./models/x-q4_k_m.gguf`. */
  uri: string;
  quant: string;
  sha256: string;
  /** `mmproj` for a vision projector; a language model otherwise. */
  role?: 'model' | 'mmproj';
}

/** Everything createSbom needs; plain data, no I/O. */
export interface SbomInput {
  bundle: { name: string; slug: string; version: string };
  models: SbomModelFile[];
  source: {
    /** `org/name` for hub sources; a file or folder name for local ones. */
    repo: string;
    /** The resolved commit for hub sources; null for local ones. */
    revision: string | null;
    /** The hub's base URL (`https://huggingface.co`) for hub sources; absent for local ones. */
    hubUrl?: string;
  };
  /** The license as the model card or GGUF names it (`apache-2.0`, `llama3`), or null. */
  license: string | null;
  /** The license text, when the source ships one; used for a LicenseRef's extracted text. */
  licenseText?: string;
  /** ISO 8601 UTC time the document is dated with (source time or SOURCE_DATE_EPOCH). */
  created: string;
  /** The Alki version, for the creator tool. */
  toolVersion: string;
  /** The importance matrix the quantized models were made with (alki pack --imatrix), if any. */
  imatrix?: SbomImatrix;
}

/** An importance matrix (llama-imatrix's GGUF or legacy .dat file) some models were quantized with. */
export interface SbomImatrix {
  /** The file name as given to --imatrix, without its directory. */
  name: string;
  sha256: string;
  /** The calibration texts it was computed on, as the file records them. */
  datasets: string[];
  /** The quants of `models` quantized with it. */
  quants: string[];
}
