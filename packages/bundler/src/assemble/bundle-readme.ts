import { resolveLicense } from '@alki/sbom';
import { loadTemplate } from '../deploy/render.js';
import { deployData, type DeployOptions } from '../deploy/render-deploy.js';
import { helmChartPath, MODELS_DIR } from '../format/layout.js';
import type { RuntimeManifest } from '../format/types.js';
import { artifactPath } from '../format/validate.js';
import type { BundleContent } from './content.js';

interface ReadmeData {
  name: string;
  slug: string;
  version: string;
  architecture: string;
  parameters: string;
  sourceLine: string;
  license: string;
  artifacts: Array<{ file: string; quant: string; size: number; sha256: string }>;
  command: string[];
  port: number;
  installDir: string;
  dockerBuild: string;
  quadletStart: string;
  helmInstall: string;
}

const renderReadme = loadTemplate<ReadmeData>('README.md.hbs');

/** "1.2B", "350M", "12K": parameter counts as model cards write them. */
function humanCount(count: number): string {
  const units: Array<[number, string]> = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, unit] of units)
    if (count >= scale) return `${(count / scale).toFixed(count >= scale * 10 ? 0 : 1)}${unit}`;
  return String(count);
}

/** metadata/README.md: what the bundle holds and how to run and deploy it. */
export function renderBundleReadme(
  content: BundleContent,
  runtime: RuntimeManifest,
  options: DeployOptions = {},
): string {
  const deploy = deployData(content, runtime, options);
  return renderReadme({
    name: content.name,
    slug: content.slug,
    version: content.version,
    architecture: content.facts.architecture,
    parameters: humanCount(content.facts.parameterCount),
    sourceLine: `${content.source.repo}${content.source.revision ? ` at ${content.source.revision}` : ''}`,
    license: resolveLicense(content.license).expression,
    artifacts: content.artifacts.map((a) => ({
      file: artifactPath(a.uri),
      quant: a.role === 'mmproj' ? `${a.quant} (vision projector)` : a.quant,
      size: a.size,
      sha256: a.sha256,
    })),
    // The local command line is the systemd one with bundle-relative model paths.
    command: [
      'llama-server',
      ...deploy.serverArgs.map((arg) =>
        arg.startsWith(`${deploy.installDir}/${MODELS_DIR}/`)
          ? `./${arg.slice(deploy.installDir.length + 1)}`
          : arg,
      ),
    ],
    port: runtime.server.port,
    installDir: deploy.installDir,
    dockerBuild: `docker build -f deploy/docker/Dockerfile -t ${content.slug} .`,
    quadletStart: `systemctl start ${deploy.objectName}`,
    helmInstall: `helm install ${deploy.objectName} ${helmChartPath(deploy.objectName)}`,
  });
}
