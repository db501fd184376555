//! Arguments shared by several subcommands (to be written).
