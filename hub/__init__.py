"""The command line (`hub`) over the library: each command one call, each error one line."""
