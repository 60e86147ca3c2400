// In the repository: the mock harness of the tests. In the temporary consumer project that
// test/package/package.test.ts builds, a copy of test/support/mocks.ts takes this file's place.
export { runWithMocks } from "../../support/mocks";
