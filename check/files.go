package check

import (
	"os"
	"path/filepath"

	"fim/config"
)

// DefaultConfig is the configuration file read when none is named, if it exists.
const DefaultConfig = "/etc/fim/fim.yaml"

// LoadConfig reads the configuration file (config.Stdin: standard input), or, when
// file is "" and useDefault is set, DefaultConfig if it exists; nil for neither. A
// file that does not load is an *OptionError naming it.
func LoadConfig(file string, useDefault bool) (*config.Config, error) {
	if file == "" {
		if !useDefault {
			return nil, nil
		}
		if _, err := os.Stat(DefaultConfig); err != nil {
			return nil, nil
		}
		file = DefaultConfig
	}
	cfg, err := config.Load(file)
	if err != nil {
		return nil, &OptionError{err.Error()}
	}
	return cfg, nil
}

// DBPath resolves the baseline database, made absolute: db (--db), else $FIM_DB, else
// cfg's db, else config.DefaultDB. When there is none, the error is an *OptionError.
func DBPath(db string, cfg *config.Config) (string, error) {
	if db == "" {
		db = os.Getenv("FIM_DB")
	}
	if db == "" && cfg != nil {
		db = cfg.DB
	}
	if db == "" {
		var err error
		if db, err = config.DefaultDB(os.Geteuid() == 0); err != nil {
			return "", optionErr("no --db given and %v", err)
		}
	}
	return filepath.Abs(db)
}

// ConfigAndDB reads the configuration file, if named (LoadConfig, without the default
// file), and resolves the baseline database db, it and the environment name (DBPath).
func ConfigAndDB(file, db string) (*config.Config, string, error) {
	cfg, err := LoadConfig(file, false)
	if err != nil {
		return nil, "", err
	}
	db, err = DBPath(db, cfg)
	return cfg, db, err
}
