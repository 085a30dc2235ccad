"""Errors that stop a job, with the embedded pipeline's codes (docs/errors.md)."""

# exit status of a job that failed for this code; everything else exits 1
EXIT_CODES = {'PIPE_ERR_BUSY': 3, 'PIPE_ERR_BAD_OPTION': 2}


class SparkJobError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code

    @property
    def exit_code(self):
        return EXIT_CODES.get(self.code, 1)
