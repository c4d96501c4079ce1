//! HTML pages (being written).
