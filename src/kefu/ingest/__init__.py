"""Import: read files, validate in the engine, store in the workspace."""
