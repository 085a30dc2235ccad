// Where the platform keeps its data when no flag says otherwise: ./var, beside the project.
export const DEFAULT_LANDING = 'var/landing'
export const DEFAULT_LAKEHOUSE = 'var/lakehouse'
