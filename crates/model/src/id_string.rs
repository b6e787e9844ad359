//! Serde for 64-bit ids that must survive a trip through JavaScript, whose numbers hold integers
//! exactly only up to 2^53: written as a decimal string, read from a string or a number.

use serde::{de, Deserializer, Serializer};

pub fn serialize<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_string())
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an id as a decimal string or an integer")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            v.parse()
                .map_err(|_| E::custom(format!("`{v}` is not an id")))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("id out of range"))
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "super")]
        id: i64,
    }

    #[test]
    fn large_ids_round_trip_as_strings() {
        let t = T {
            id: 1_900_000_000_000_000_123,
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"id":"1900000000000000123"}"#);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
        assert_eq!(
            serde_json::from_str::<T>(r#"{"id":42}"#).unwrap(),
            T { id: 42 }
        );
        assert!(serde_json::from_str::<T>(r#"{"id":"x"}"#).is_err());
    }
}
