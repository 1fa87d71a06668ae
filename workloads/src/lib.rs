//! Workloads: what clients do and how it is checked (register, set, list-append, rw-register, bank, counter).
