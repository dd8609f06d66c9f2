// CNCF ModelPack (github.com/modelpack/model-spec, specs-go/v1/mediatype.go
// and annotations.go): the artifact type, the config, and the raw
// (untarred, uncompressed) layer types Alki uses.
export const MODELPACK_ARTIFACT = 'application/vnd.cncf.model.manifest.v1+json';
export const MODELPACK_CONFIG = 'application/vnd.cncf.model.config.v1+json';
export const MODELPACK_WEIGHT_RAW = 'application/vnd.cncf.model.weight.v1.raw';
export const MODELPACK_WEIGHT_CONFIG_RAW = 'application/vnd.cncf.model.weight.config.v1.raw';
export const MODELPACK_DOC_RAW = 'application/vnd.cncf.model.doc.v1.raw';
export const MODELPACK_FILEPATH_ANNOTATION = 'org.cncf.model.filepath';
