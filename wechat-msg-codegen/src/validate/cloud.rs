//! The cloud-call naming rule: wx-server-sdk turns each camelCase key into
//! the HTTP key by replacing each ASCII capital `X` with `_x`, so every
//! cloud name in the spec must map onto its HTTP name that way.

use super::Validator;
use crate::raw::Sp;

/// The wx-server-sdk rule for cloud-call keys: each ASCII capital `X`
/// becomes `_x`; everything else is kept.
pub fn sdk_snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Validator<'_> {
    /// Checks that wx-server-sdk's rule turns `cloud` into `http`.
    pub(super) fn camel_rule(&mut self, http: &Sp<String>, cloud: &Sp<String>) -> bool {
        let converted = sdk_snake_case(&cloud.value);
        if converted != http.value {
            let msg = format!(
                "cloud name `{}` becomes `{}` under wx-server-sdk's rule (each capital X -> _x), not the HTTP name `{}`",
                cloud.value, converted, http.value
            );
            self.errors.push(&cloud.pos, msg);
            return false;
        }
        true
    }
}

impl Validator<'_> {
    /// A field marked `verbatim = true`: its key is WeChat's own camelCase
    /// (`kidList`), written the same in both forms. It must be the same in
    /// both, and it must need the mark: a key without capitals is mapped
    /// onto itself by the rule already.
    pub(super) fn verbatim_name(
        &mut self,
        http: &Sp<String>,
        cloud: &Sp<String>,
        verbatim: &Sp<bool>,
    ) -> bool {
        if cloud.value != http.value {
            let msg = format!(
                "a `verbatim` key is the same in both forms; cloud name `{}` differs from the HTTP name `{}`",
                cloud.value, http.value
            );
            self.errors.push(&cloud.pos, msg);
            return false;
        }
        if !http.value.chars().any(|c| c.is_ascii_uppercase()) {
            let msg = format!(
                "`verbatim` is only for keys with capitals; wx-server-sdk's rule already keeps `{}` as is, remove `verbatim`",
                http.value
            );
            self.errors.push(&verbatim.pos, msg);
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::sdk_snake_case;

    #[test]
    fn sdk_rule() {
        assert_eq!(sdk_snake_case("thumbMediaId"), "thumb_media_id");
        assert_eq!(sdk_snake_case("msgType"), "msg_type");
        assert_eq!(sdk_snake_case("touser"), "touser");
        assert_eq!(sdk_snake_case("thumb_url"), "thumb_url");
    }
}
