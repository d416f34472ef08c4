// testTimeout is a global option in Jest 30 (ignored inside `projects`), hence set here too.
module.exports = {
  projects: [
    '<rootDir>/libs/*',
    '<rootDir>/services/*',
    '<rootDir>/proxy/*/jest.config.js',
    '<rootDir>/test',
  ],
  testTimeout: 60_000,
};
