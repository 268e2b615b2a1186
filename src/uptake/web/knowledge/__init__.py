"""The knowledge portal: case studies (the shared learning database), implementation guides, a
wiki with full revision history, discussion threads and the barriers register, with search
across all of it."""
