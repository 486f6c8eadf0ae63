"""An epoch drawn as one offline HTML page: `pocnet-oracle map`."""
