// @ts-check
// Alki's own lint rules, used by the root eslint.config.js as the `alki` plugin.
import { noImportCycles } from './no-import-cycles.js';

export default {
  meta: { name: '@alki/eslint-plugin' },
  rules: { 'no-import-cycles': noImportCycles },
};
