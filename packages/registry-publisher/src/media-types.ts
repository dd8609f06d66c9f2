// OCI image-spec (manifest.md, image-index.md, descriptor.md) and the Docker
// image manifest v2 schema 2 media types a registry may answer with.
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

/** Every manifest and index type we send in `Accept`, because a GET needs the matching one. */
export const MANIFEST_MEDIA_TYPES = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST] as const;

// CNCF ModelPack (github.com/modelpack/model-spec, specs-go/v1/mediatype.go
// and annotations.go): the artifact type, the config, and the raw
// (untarred, uncompressed) layer types Alki uses.
export const MODELPACK_ARTIFACT = 'application/vnd.cncf.model.manifest.v1+json';
export const MODELPACK_CONFIG = 'application/vnd.cncf.model.config.v1+json';
export const MODELPACK_WEIGHT_RAW = 'application/vnd.cncf.model.weight.v1.raw';
export const MODELPACK_WEIGHT_CONFIG_RAW = 'application/vnd.cncf.model.weight.config.v1.raw';
export const MODELPACK_DOC_RAW = 'application/vnd.cncf.model.doc.v1.raw';
export const MODELPACK_FILEPATH_ANNOTATION = 'org.cncf.model.filepath';

// OCI image-spec annotations.md.
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';
export const ANNOTATION_VERSION = 'org.opencontainers.image.version';
