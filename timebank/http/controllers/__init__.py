"""Litestar controllers: thin translations between HTTP and the capabilities."""
