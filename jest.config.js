/** Jest: TypeScript through ts-jest (type checking is `npm run lint`'s job, so tests start fast). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  globalSetup: '<rootDir>/test/global-setup.js',
  setupFiles: ['<rootDir>/test/setup-env.js'],
  testTimeout: 60000,
  // Two workers on a 2-core machine (jest's default is one): much of the suite waits on child
  // processes (gcloud and bq, the emulator's Java, the kpis CLI), so a second worker fills the wait.
  maxWorkers: 2,
};
