//! Root package: examples and end-to-end tests of the agenttrust workspace.
