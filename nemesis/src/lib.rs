//! Fault injectors built on the harness control plane: partitions, process kills and pauses, clock skew, packet loss.
