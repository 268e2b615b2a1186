"""Operations: backing up and restoring an instance (ops.backup)."""
