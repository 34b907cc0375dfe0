/** Jest runs the TypeScript sources as native ESM (got is ESM-only). */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  // Suites in test/; unit tests of pure parts beside their code (kit/retry.test.ts).
  roots: ['<rootDir>/test', '<rootDir>/kit', '<rootDir>/gateway'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testTimeout: 30000,
};
