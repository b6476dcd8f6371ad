// Process groups for `descent launch`.
