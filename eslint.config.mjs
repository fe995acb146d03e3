// ESLint: eslint's and typescript-eslint's recommended rules, plus the
// type-aware rules for the bug class of code this asynchronous: a promise
// nobody awaits (its rejection lost, its work racing what follows), a promise
// where a boolean or a void callback is expected, an `await` of a non-promise,
// and a `return promise` inside try whose rejection skips the catch.
//
// Types come from tsconfig.test.json, the one program `npm run typecheck`
// checks (src, sim, bench, scripts, __tests__, vitest.config.ts). It is named
// with `project` rather than found with `projectService`: the service takes
// each file's nearest tsconfig.json, which leaves out __tests__ and
// vitest.config.ts. The two .mjs scripts are in no tsconfig and get the
// untyped rules only.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'lib/', '.cache/', 'node_modules/', 'coverage/', 'reports/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
    },
  },
  {
    rules: {
      // As tsc's noUnusedLocals/noUnusedParameters: a leading `_` marks a
      // binding kept on purpose (a parameter an interface requires, a field
      // dropped from a rest copy).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Prettier owns line breaks (it may break a member chain before `[`),
      // and with `semi: false` it already writes the leading `;` that keeps a
      // line starting with `[` or `(` from joining the one before.
      'no-unexpected-multiline': 'off',
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly', console: 'readonly' } },
  },
)
