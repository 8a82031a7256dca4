// Jest runs the compiled ESM tests (tsc is the one compiler; see scripts/test.mjs).
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['<rootDir>/*/dist/**/*.test.js'],
  testPathIgnorePatterns: ['/node_modules/'],
  transform: {},
  testTimeout: 60_000,
  // Suites start real servers and processes; a handle one of them leaks must not keep a finished
  // run (and CI) waiting forever.
  forceExit: true,
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.cjs'],
};
