//! The pipeline: runs the stages' jobs (synthesis, simulation, training
//! trials) through an [`executor`], locally or on a Slurm cluster.
pub mod executor;
