"""Shared infrastructure of the hub: blob storage, background jobs and the sandbox."""
