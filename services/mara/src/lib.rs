//! mara
