// Parallel, SharedBox and FirstError live in PetctConcurrency; re-exported for this target's files.
@_exported import PetctConcurrency
