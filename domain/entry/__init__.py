"""Staff data entry from the back office: customers created and changed, meters exchanged (all or nothing)."""
