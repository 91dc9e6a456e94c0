//! The library's enums as command-line choices. The library does not depend on
//! clap: its enums are plain data (named by serde), and this file gives each one
//! the `clap::ValueEnum` the flags need, with the same names serde uses.
use crate::calibrate::Quantity;
use crate::estimate::energy::MemoryMode;
use crate::estimate::{Flow, Strategy};
use crate::search::score::Goal;
use crate::search::space::TunerKind;
use crate::switching::OpCount;
use clap::builder::PossibleValue;

macro_rules! value_enum {
    ($type:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl clap::ValueEnum for $type {
            fn value_variants<'a>() -> &'a [Self] {
                &[$(<$type>::$variant),+]
            }
            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(PossibleValue::new(match self { $(<$type>::$variant => $name),+ }))
            }
        }
    };
}

value_enum!(Strategy { Latency => "latency", Resource => "resource" });
value_enum!(MemoryMode { Fixed => "fixed", Sram => "sram", Dram => "dram" });
value_enum!(Goal { Energy => "energy", Bits => "bits" });
value_enum!(TunerKind { Random => "random", Hyperband => "hyperband", Tpe => "tpe" });
value_enum!(Quantity { Lut => "lut", Ff => "ff", Dsp => "dsp", Bram18 => "bram18", Latency => "latency" });
value_enum!(OpCount { All => "all", Nonzero => "nonzero" });
value_enum!(Flow { Hls => "hls", Rtl => "rtl" });

#[cfg(test)]
mod tests {
    use clap::ValueEnum;
    use serde::Serialize;

    /// The flag names are the names the files use (serde), so a value written
    /// on the command line reads the same in a TOML or JSON file.
    fn same_names<T: ValueEnum + Serialize>() {
        for variant in T::value_variants() {
            let flag = variant.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(serde_json::to_value(variant).unwrap(), serde_json::json!(flag));
        }
    }

    #[test]
    fn flag_names_are_the_serde_names() {
        same_names::<super::Strategy>();
        same_names::<super::MemoryMode>();
        same_names::<super::Goal>();
        same_names::<super::TunerKind>();
        same_names::<super::Quantity>();
        same_names::<super::OpCount>();
        same_names::<super::Flow>();
    }
}
