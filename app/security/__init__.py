"""Who may do what: roles as data, the security manager, and (later) row scope."""
