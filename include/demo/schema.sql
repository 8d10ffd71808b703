-- purpose: the seed application's schema (Laravel conventions), as it was when the incident was found
create table companies (
    id bigint unsigned not null auto_increment primary key,
    name varchar(255) not null,
    created_at timestamp null,
    updated_at timestamp null
) engine = InnoDB;

create table customers (
    id bigint unsigned not null auto_increment primary key,
    company_id bigint unsigned null,
    name varchar(255) not null,
    email varchar(255) null,
    phone varchar(64) null,
    created_at timestamp null,
    updated_at timestamp null,
    deleted_at timestamp null,
    key customers_company_id_index (company_id)
) engine = InnoDB;

create table appointments (
    id bigint unsigned not null auto_increment primary key,
    company_id bigint unsigned null,
    customer_id bigint unsigned not null,
    starts_at datetime not null,
    created_at timestamp null,
    updated_at timestamp null,
    deleted_at timestamp null,
    key appointments_customer_id_index (customer_id),
    key appointments_company_id_index (company_id)
) engine = InnoDB;

-- the phone agent's calls: its webhook forgot company_id too
create table calls (
    id bigint unsigned not null auto_increment primary key,
    company_id bigint unsigned null,
    customer_id bigint unsigned null,
    from_number varchar(64) not null,
    to_number varchar(64) not null,
    created_at timestamp null,
    updated_at timestamp null,
    key calls_customer_id_index (customer_id),
    key calls_to_number_index (to_number)
) engine = InnoDB;

-- the businesses' own numbers: there is no customer_id here (seed 001's Option B assumed one)
create table phone_numbers (
    id bigint unsigned not null auto_increment primary key,
    company_id bigint unsigned not null,
    number varchar(64) not null,
    created_at timestamp null,
    updated_at timestamp null,
    deleted_at timestamp null,
    unique key phone_numbers_number_unique (number)
) engine = InnoDB;
