// Runs the examples users copy, so that they cannot rot.

// The user's test suites of examples/testing register their tests in this file.
import "../examples/testing/collector-faults.test.js"
import "../examples/testing/collector.test.js"
import "../examples/testing/retries.test.js"
import "../examples/testing/signup.test.js"
