//! The JSON Schema of the definition fields whose Rust type says less than `validate` checks,
//! for the host's OpenAPI document (the `openapi` feature). The host also describes plugin
//! actions' schemas with [`json_schema`] and [`optional_json_schema`].

use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};

/// A JSON Schema, which is an object or a boolean.
pub fn json_schema() -> Schema {
    schema_of(&[Type::Object, Type::Boolean], "A JSON Schema: an object, or a boolean.")
}

/// A JSON Schema, or `null` for none.
pub fn optional_json_schema() -> Schema {
    schema_of(&[Type::Object, Type::Boolean, Type::Null], "A JSON Schema (an object or a boolean), or null for none.")
}

/// `query` or `headers`: names (not empty) to a string (maybe a template), a number or a
/// boolean, in the order written.
pub fn params() -> Schema {
    let name = ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).build();
    let value = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .build();
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property_names(Some(Schema::Object(name)))
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::OneOf(value)))))
            .build(),
    )
}

fn schema_of(types: &[Type], description: &str) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter(types.iter().cloned()))
            .description(Some(description))
            .build(),
    )
}
