fn main() {
    print!("{}", serde_yaml::to_string(&exposure_crd::crd()).unwrap_or_default());
}
