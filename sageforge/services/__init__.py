"""API providers: one package per AWS API, translating wire shapes to domain managers and back."""
