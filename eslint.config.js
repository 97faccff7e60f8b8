// Lint for bugs, not style: layout belongs to Prettier. Type-aware rules read the same tsconfig
// files `npm run typecheck` uses, so lint and the compiler agree on what each file is.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'public/**', 'examples/**', 'coverage/**', '.tap/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.check.json', './sdk/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // An async function without await still turns a throw into a rejection, and satisfies
      // interfaces that return promises; requiring an await would add noise, not catch bugs.
      '@typescript-eslint/require-await': 'off',
      // `_`-prefixed names are deliberately unused (positional parameters); so are the siblings of
      // a rest element, which is how an object is copied without some fields.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // tap's t.test() returns a promise the runner itself awaits; everything else must be handled.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] }],
      // Pipeline replies are typed `[Error | null, unknown]`; the code rethrows the error after a
      // truthiness check that the types cannot carry through `find`.
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Interfaces here declare callbacks in method syntax (probes, outputs, history readers); the
      // values are closures without `this`, which this rule cannot tell from class methods.
      '@typescript-eslint/unbound-method': 'off',
      // String(unknown) is the deliberate last resort when describing a thrown non-Error.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // Tests read JSON bodies and Redis replies as `any` on purpose: the assertions that follow
    // check their shape, and a wrong shape fails the test rather than slipping through.
    files: ['test/**/*.ts', 'sdk/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `res.json() as T` names the shape a test expects, even where inference would reach it.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/restrict-plus-operands': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
)
