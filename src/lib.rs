//! wx-session: placeholder, being written.
