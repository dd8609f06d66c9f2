import { jestConfig } from '../../jest.preset.js';

export default jestConfig({ globalSetup: '<rootDir>/jest.global-setup.js' });
