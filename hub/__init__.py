"""The hub's runner and command line: chains the stages, owns no logic of its own."""
