//! Negotiated extensions (RFC 6455 §9) over the connection's RSV seam: permessage-deflate (RFC 7692).
//!
//! The connection core knows nothing of any extension: it lets the first frame of a data
//! message carry the RSV bits [`Config::allowed_rsv`](crate::Config::allowed_rsv) allows and
//! hands them out with every [`DataChunk`](crate::DataChunk). The layers here decode what those
//! bits announce, above the public API of [`Connection`](crate::Connection).
//!
//! | module | RFC | what it is |
//! | --- | --- | --- |
//! | [`deflate`] | RFC 7692 §5–§8 | permessage-deflate: negotiation, streaming inflate into caller storage, optional compression |

pub mod deflate;
