//! Wire primitives: the bounded reader, the writer helpers, varints and the small value types
//! every message is made of.
//!
//! Lengths and counts are always checked against the bytes left before anything is allocated, so
//! a hostile length prefix fails fast instead of reserving gigabytes.

mod chunks;
mod int_array;
mod kafka_string;
mod reader;
mod tagged;
mod uuid;
mod writer;

pub use chunks::{put_nullable_records, put_records, Writer, DEFAULT_MIN_REFERENCE};
pub use int_array::{IntArray, IntArrayIntoIter, IntElement};
pub use kafka_string::KafkaString;
pub use reader::Reader;
pub use tagged::{read_raw_tagged_fields, RawTaggedField, TaggedFieldsReader, UnknownTaggedFields};
pub use uuid::Uuid;
pub use writer::{
    put_array_len, put_bool, put_bytes, put_int_array, put_nullable_bytes, put_nullable_string,
    put_string, put_unsigned_varint, put_uuid, put_varint, put_varlong, unsigned_varint_len,
    write_tagged_fields,
};
