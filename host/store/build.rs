// `sqlx::migrate!` embeds the migration files at compile time, but cargo does not know it reads
// them: without this, a new migration file would not rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
