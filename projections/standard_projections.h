// The projections behind Annals' repositories.
#pragma once

#include <memory>
#include <vector>

#include "projections/projector.h"

namespace annals::projections {

std::unique_ptr<Projection> make_settings_projection();
std::unique_ptr<Projection> make_token_projection();
std::unique_ptr<Projection> make_model_projection();
std::unique_ptr<Projection> make_toolset_projection();
std::unique_ptr<Projection> make_mcp_projection();
std::unique_ptr<Projection> make_mcp_auth_projection();
std::unique_ptr<Projection> make_user_access_projection();
std::unique_ptr<Projection> make_app_access_request_projection();
std::unique_ptr<Projection> make_app_instance_projection();
std::unique_ptr<Projection> make_user_alias_projection();

// Every projection the repositories read from.
std::vector<std::unique_ptr<Projection>> standard_projections();

std::string_view token_status_name(schema::TokenStatus status);

}  // namespace annals::projections
