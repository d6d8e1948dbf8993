//! OpenAPI schemas too rich for `#[schema(...)]` attributes: patterns shared by several fields,
//! and a map whose keys follow a rule. They say what the handlers accept, so clients and
//! generated test data do not learn it from a 400.

use utoipa::openapi::schema::{
    AdditionalProperties, Object, ObjectBuilder, OneOf, OneOfBuilder, SchemaType, Type,
};

use crate::routing::{MAX_CHECK_PATH, MAX_TCP_PAYLOAD};

/// A host in a URL: a DNS name whose last label starts with a letter (a numeric last label is
/// read as an IPv4 address by URL parsers), a dotted IPv4 address, or an IPv6 one in brackets.
macro_rules! url_host {
    () => {
        r"(([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])|\[[0-9A-Fa-f:]{2,39}\])(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
    };
}

/// An LXD host's URL: `https://HOST[:PORT]`, nothing after but an optional `/`.
pub const HOST_URL_PATTERN: &str = concat!("^https://", url_host!(), "/?$");

/// An image server's URL: `https://HOST[:PORT][/PATH]`, no query or fragment.
pub const IMAGE_SERVER_URL_PATTERN: &str = concat!("^https://", url_host!(), r"(/[^\s?#]*)?$");

/// A PEM certificate: ASCII, a `BEGIN CERTIFICATE` line before an `END CERTIFICATE` one.
pub const PEM_CERTIFICATE_PATTERN: &str =
    r"^[\x01-\x7f]*-----BEGIN CERTIFICATE-----[\x01-\x7f]*-----END CERTIFICATE-----[\x01-\x7f]*$";

/// The LXD config keys a cloud-config may set: `environment.*`, `limits.*` and `user.*`, except
/// Mosaic's own `user.mosaic.*` and the keys cloud-init is fed through.
pub const CONFIG_KEY_PATTERN: &str = r"^(?!user\.mosaic(\.|$))(?!user\.(user-data|vendor-data|meta-data|network-config)$)(environment|limits|user)\.[A-Za-z0-9._-]+$";

/// The longest config value, in characters.
pub const CONFIG_VALUE_MAX: usize = 64 * 1024;

fn string_type(nullable: bool) -> SchemaType {
    if nullable { SchemaType::from_iter([Type::String, Type::Null]) } else { SchemaType::new(Type::String) }
}

fn url(pattern: &str, description: &str, nullable: bool) -> Object {
    ObjectBuilder::new()
        .schema_type(string_type(nullable))
        .description(Some(description))
        .max_length(Some(2048))
        .pattern(Some(pattern))
        .build()
}

/// `CreateHost.url` (nullable).
pub fn host_url_nullable() -> Object {
    url(HOST_URL_PATTERN, "`https://HOST:PORT`.", true)
}

/// `FingerprintRequest.url`.
pub fn host_url() -> Object {
    url(HOST_URL_PATTERN, "`https://HOST:PORT`.", false)
}

/// `ImageServer.url`.
pub fn image_server_url() -> Object {
    url(
        IMAGE_SERVER_URL_PATTERN,
        "`https://HOST[:PORT][/PATH]` (a simplestreams tree may live under a path).",
        false,
    )
}

/// `ImageServer.certificate` (nullable).
pub fn pem_certificate_nullable() -> Object {
    ObjectBuilder::new()
        .schema_type(string_type(true))
        .description(Some(
            "The server's certificate (PEM), for a server the hosts' system CAs do not vouch for (a \
             self-signed LXD server, a private mirror): the host then trusts exactly that certificate \
             for the download.",
        ))
        .max_length(Some(16 * 1024))
        .pattern(Some(PEM_CERTIFICATE_PATTERN))
        .build()
}

fn config_map(description: &str, nullable: bool) -> Object {
    let schema_type = if nullable {
        SchemaType::from_iter([Type::Object, Type::Null])
    } else {
        SchemaType::new(Type::Object)
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .description(Some(description))
        .property_names(Some(
            ObjectBuilder::new().schema_type(Type::String).pattern(Some(CONFIG_KEY_PATTERN)),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(CONFIG_VALUE_MAX))
                .pattern(Some(r"^[^\x00]*$")),
        ))
        .build()
}

/// `CreateCloudConfig.config`.
pub fn config_keys() -> Object {
    config_map(
        "Extra LXD config keys: `environment.*`, `limits.*` and `user.*` (except Mosaic's own).",
        false,
    )
}

/// `UpdateCloudConfig.config` (nullable).
pub fn config_keys_nullable() -> Object {
    config_map("New config keys, replacing the old ones (new revision).", true)
}

/// A health check path: what `routing::health_check` accepts (RFC 3986 path and query
/// characters, less those HAProxy's configuration treats specially).
pub const CHECK_PATH_PATTERN: &str = r"^/[A-Za-z0-9/._~!&()*+,;=:@?%-]*$";

fn tag(value: &str) -> Object {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some([value])).build()
}

/// `HealthCheck`: one object per protocol, tagged by `type`, no other keys.
pub fn health_check() -> OneOf {
    let http = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("`GET path`, healthy when the answer has exactly `expect_status`."))
        .property(
            "path",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The request path, starting with `/` (a query string is allowed)."))
                .max_length(Some(MAX_CHECK_PATH))
                .pattern(Some(CHECK_PATH_PATTERN)),
        )
        .required("path")
        .property(
            "expect_status",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int32)))
                .description(Some("The status that means healthy (default 200)."))
                .default(Some(200.into()))
                .minimum(Some(100))
                .maximum(Some(599)),
        )
        .property("type", tag("http"))
        .required("type")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .build();
    let text = |description: &str, min: usize| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .min_length((min > 0).then_some(min))
            .max_length(Some(MAX_TCP_PAYLOAD))
    };
    let tcp = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Connect, send `send` (may be empty for protocols where the server speaks first), and\nexpect \
             `expect` to appear in the answer.",
        ))
        .property("send", text("Text to send once connected.", 0))
        .property("expect", text("Text that must appear in the answer; never empty.", 1))
        .required("expect")
        .property("type", tag("tcp"))
        .required("type")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .build();
    OneOfBuilder::new()
        .item(http)
        .item(tcp)
        .description(Some(
            "A health check that speaks the port's protocol. There is no bare TCP-connect check: an LXD\nproxy \
             device accepts a connection on the host before it dials the container, so a connect\ncheck would \
             pass whenever the instance runs, even with nothing listening inside.",
        ))
        .build()
}
