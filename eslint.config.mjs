// ESLint flat config: the recommended JavaScript and TypeScript rules over all sources, the
// type-aware promise rules over the TypeScript, and size limits on production code (issue 23).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.data/', 'coverage/', 'scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
      'no-console': 'error',
    },
  },
  {
    // Type-aware: a promise nobody awaits loses its rejection; one passed where a void callback
    // is expected (an event listener, forEach) is not awaited either.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // Production code: a function makes a dozen decisions at most and fits one screen; one that
    // must stay longer (a table of rules) says why in an eslint-disable-next-line comment. Tests
    // are exempt: table-driven cases and fixtures run long, and the fakes route requests by hand.
    files: ['cli/**', 'shared/**', 'functions/**', 'bin/**', 'bench/**'],
    rules: {
      complexity: ['error', 12],
      'max-lines-per-function': ['error', { max: 40, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
);
